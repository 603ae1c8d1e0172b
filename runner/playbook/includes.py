"""``import_tasks`` (static: expanded into the task list when the playbook is loaded) and
``include_tasks`` (dynamic: a task that the strategy expands per host when it runs).

A relative file name is looked up next to the file that names it, then (inside a role)
in the role's ``tasks/`` folder, then in the playbook's folder. Imported and included
tasks keep their own file and line, for errors and output. A file that imports itself is refused at load time.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from runner.errors import PlaybookError, TemplateError
from runner.playbook.checks import BLOCK_KEYWORDS, as_tuple
from runner.playbook.model import Block, Node, Task
from runner.playbook.reader import LineDict, line_of, load_yaml
from runner.templating import is_template, render_value

IMPORT_NAMES = ("import_tasks", "ansible.builtin.import_tasks")
INCLUDE_NAMES = ("include_tasks", "ansible.builtin.include_tasks")
_COMMON = frozenset({"name", "when", "tags", "vars"})
IMPORT_KEYWORDS = (BLOCK_KEYWORDS - {"block", "rescue", "always"}) | set(IMPORT_NAMES)
INCLUDE_KEYWORDS = _COMMON | {"loop", "with_items", "loop_control", "apply", "ignore_errors"}
INCLUDE_KEYWORDS |= set(INCLUDE_NAMES) | {"listen"}  # listen: as a handler
APPLY_KEYWORDS = BLOCK_KEYWORDS - {"block", "rescue", "always", "name"}


def include_key(item: dict[Any, Any]) -> str | None:
    """``import_tasks``/``include_tasks`` (or its FQCN) if ``item`` is one, else None."""
    for key in (*IMPORT_NAMES, *INCLUDE_NAMES):
        if key in item:
            return key
    return None


@dataclass(eq=False)
class Included:
    """What an ``include_tasks`` task needs at run time to read its file."""

    dirs: tuple[str, ...]  # where a relative name is looked up, first to last
    load: Callable[[str], list[Node]]  # a found file -> its tasks (cached per file)
    apply_tags: frozenset[str] = frozenset()
    keep: Callable[[Task], bool] | None = None  # --tags/--skip-tags, set by selection

    def not_found(self, name: str) -> str:
        """Why ``find(name)`` found nothing, for the host's failure message."""
        return f"include_tasks: tasks file {name!r} not found (looked in {', '.join(self.dirs)})"

    def find(self, name: str) -> str | None:
        name = os.path.expanduser(name)
        if os.path.isabs(name):
            return name if os.path.isfile(name) else None
        for folder in self.dirs:
            candidate = os.path.join(folder, name)
            if os.path.isfile(candidate):
                return candidate
        return None


class IncludeLoader:
    """Mixed into the task loader: ``import_tasks`` and ``include_tasks`` entries."""

    extra_vars: dict[str, Any]
    vault: Any
    play_path: str = ""
    handler_include = False  # reading the file of an include_tasks handler
    play_vars: dict[str, Any]
    _importing: list[str]
    _task_files: dict[tuple[str, int], list[Node]]

    def _include_file(self, data: dict[Any, Any], key: str, path: str) -> str:
        raw = data[key]
        if isinstance(raw, dict):
            raw = raw.get("file")
        if not isinstance(raw, str) or not raw.strip():
            raise PlaybookError(
                f"{key} needs a file name ('{key}: tasks.yml' or 'file: tasks.yml')",
                path=path, line=line_of(data, key),
            )  # fmt: skip
        return raw.strip()

    def _dirs(self, path: str) -> tuple[str, ...]:
        here = os.path.dirname(path) or "."
        play = os.path.dirname(self.play_path) or "."
        role = self._role_dir_of(path)  # type: ignore[attr-defined]
        inside = [os.path.join(role, "tasks")] if role else []  # a role's tasks/ folder
        return tuple(dict.fromkeys([here, *inside, play]))

    def _read_tasks(
        self, full: str, inherited: Any, counter: list[int], *, handler: bool, where: tuple
    ) -> list[Node]:
        real = os.path.realpath(full)
        if real in getattr(self, "_importing", []):
            raise PlaybookError(
                f"{os.path.basename(full)} includes itself (through "
                f"{' -> '.join(os.path.basename(p) for p in self._importing)})",
                path=where[0], line=where[1],
            )  # fmt: skip
        self._importing = [*getattr(self, "_importing", []), real]
        try:
            data = load_yaml(full, self.vault)
            if data is None:
                return []
            if not isinstance(data, list):
                raise PlaybookError(
                    f"a tasks file must be a YAML list of tasks (included from "
                    f"{where[0]}:{where[1]})", path=full, line=line_of(data, default=1),
                )  # fmt: skip
            section = "handlers" if handler else "tasks"
            return self.nodes(  # type: ignore[attr-defined]
                data, full, inherited, counter, section, None, handler=handler
            )
        finally:
            self._importing = self._importing[:-1]

    def import_tasks(
        self, data: dict[Any, Any], key: str, path: str, inherited: Any, counter: list[int],
        *, handler: bool,
    ) -> Block:  # fmt: skip
        """``import_tasks``: the file's tasks, with the import's keywords folded in."""
        for k in data:
            if k not in IMPORT_KEYWORDS:
                self._bad_keyword(k, "import_tasks", path, line_of(data, k), IMPORT_KEYWORDS)  # type: ignore[attr-defined]
        line = line_of(data, key) or line_of(data) or 0
        name = self._include_file(data, key, path)
        if is_template(name):
            try:
                name = str(render_value(name, {**self.play_vars, **self.extra_vars}))
            except TemplateError as exc:
                raise PlaybookError(
                    f"{key} {name!r}: {exc.message} (import_tasks is read when the playbook "
                    "is loaded, so only play vars and extra vars are known; use "
                    "include_tasks for host variables)", path=path, line=line,
                ) from exc  # fmt: skip
        found = Included(self._dirs(path), lambda _: []).find(name)
        if found is None:
            raise PlaybookError(
                f"{key}: tasks file {name!r} not found (looked in "
                f"{', '.join(self._dirs(path))})", path=path, line=line,
            )  # fmt: skip
        inner = self._inherit(data, path, inherited)  # type: ignore[attr-defined]
        nodes = self._read_tasks(found, inner, counter, handler=handler, where=(path, line))
        return Block(nodes, [], [], path, line)

    def include_tasks(
        self, data: dict[Any, Any], key: str, path: str, inherited: Any, counter: list[int],
        *, handler: bool = False,
    ) -> Task:  # fmt: skip
        """``include_tasks``: a task the strategy expands per host (see Included). In
        handlers it is a handler whose file's tasks run, as handlers, when notified."""
        for k in data:
            if k not in INCLUDE_KEYWORDS:
                self._bad_keyword(k, "include_tasks", path, line_of(data, k), INCLUDE_KEYWORDS)  # type: ignore[attr-defined]
        line = line_of(data) or 0
        name = self._include_file(data, key, path)
        raw = data[key]
        apply = (raw.get("apply") if isinstance(raw, dict) else None) or data.get("apply") or {}
        if isinstance(raw, dict) and set(raw) - {"file", "apply"}:
            raise PlaybookError(
                f"{key} takes 'file' and 'apply', not {', '.join(sorted(set(raw) - {'file', 'apply'}))}",
                path=path, line=line_of(data, key),
            )  # fmt: skip
        if not isinstance(apply, dict) or set(apply) - APPLY_KEYWORDS:
            raise PlaybookError(
                "include_tasks: 'apply' takes the keywords of a block: "
                + ", ".join(sorted(APPLY_KEYWORDS)), path=path, line=line_of(data, "apply"),
            )  # fmt: skip
        dirs = self._dirs(path)
        # apply: keywords the included tasks get, as from a block around them
        base = self._inherit(apply, path, inherited) if apply else inherited  # type: ignore[attr-defined]

        play_path, play_vars = self.play_path, self.play_vars

        def load(full: str) -> list[Node]:
            cache_key = (os.path.realpath(full), id(base))
            if cache_key not in self._task_files:
                # at run time the loader has moved on: read as from this include's play
                saved = self.play_path, self.play_vars
                self.play_path, self.play_vars = play_path, play_vars
                # an included handler's tasks run as that handler: they need no names
                self.handler_include = handler
                try:
                    self._task_files[cache_key] = self._read_tasks(
                        full, base, [0], handler=handler, where=(path, line)
                    )
                finally:
                    self.play_path, self.play_vars = saved
                    self.handler_include = False
            return self._task_files[cache_key]

        included = Included(dirs, load, base.tags)
        if not is_template(name):
            found = included.find(name)
            if found is None:
                raise PlaybookError(
                    f"{key}: tasks file {name!r} not found (looked in {', '.join(dirs)})",
                    path=path, line=line,
                )  # fmt: skip
            load(found)
        for cond in as_tuple(data.get("when")):
            self._check_expr(cond, path, line_of(data, "when"))  # type: ignore[attr-defined]
        task_data = {k: v for k, v in data.items() if k not in (key, "apply")}
        task_data["include_tasks"] = {"file": name}
        fake = LineDict(task_data)
        fake.line = line
        fake.key_lines = {k: line_of(data, k) or line for k in data}
        fake.key_lines["include_tasks"] = line_of(data, key) or line
        task = self.task(fake, path, inherited, counter, handler=handler)  # type: ignore[attr-defined]
        task.include = included
        return task


def resolve_include(task: Task, outcome: Any) -> Any:
    """An ``include_tasks`` outcome with each rendered file name found and read; the
    host fails (naming the file) if one is missing or invalid."""
    result = outcome.result
    if task.include is None or outcome.status.value not in ("ok", "changed"):
        return outcome
    result = dict(result)
    items = result.get("results") if task.loop is not None else [result]
    fixed = []
    for one in items or []:
        one = dict(one)
        if not one.get("skipped") and isinstance(one.get("include"), str):
            found = task.include.find(one["include"])
            if found is None:
                return _failed(outcome, task.include.not_found(one["include"]))
            try:
                task.include.load(found)
            except PlaybookError as exc:
                return _failed(outcome, f"include_tasks: {exc}")
            one["include"] = found
        fixed.append(one)
    if task.loop is not None:
        result["results"] = fixed
    else:
        result = fixed[0]
    return replace(outcome, result=result)


def _failed(outcome: Any, msg: str) -> Any:
    from runner.models import Status

    return replace(outcome, status=Status.FAILED, result={"failed": True, "msg": msg})


def expand_include(task: Task, outcome: Any, cache: dict[Any, list[Node]]) -> list[Node]:
    """The tasks one host runs for its ``include_tasks`` outcome. Hosts that included the
    same file with the same item share the very same Task objects, so the strategy runs
    them together."""
    if task.include is None or outcome.hard_failed or outcome.status.value == "skipped":
        return []
    result = outcome.result
    items = result.get("results") if task.loop is not None else [result]
    out: list[Node] = []
    for number, one in enumerate(items or []):
        if one.get("skipped") or not isinstance(one.get("include"), str):
            continue
        extra = {task.loop_var: one.get(task.loop_var)} if task.loop is not None else {}
        key = (id(task), one["include"], number, repr(extra))
        if key not in cache:
            prefix = (*task.sort_key, number)
            cache[key] = _copy(task.include.load(one["include"]), task, extra, prefix)
        out.extend(cache[key])
    return out


def _copy(nodes: list[Node], include: Task, extra: dict, prefix: tuple[int, ...]) -> list[Node]:
    keep = include.include.keep
    out: list[Node] = []
    for node in nodes:
        if isinstance(node, Task):
            if keep is not None and not keep(node):
                continue
            out.append(
                replace(
                    node,
                    vars={**include.vars, **extra, **node.vars},
                    order=(*prefix, *node.sort_key),
                    rescuable=node.rescuable or include.rescuable,
                )
            )
        else:
            block = replace(
                node,
                block=_copy(node.block, include, extra, prefix),
                rescue=_copy(node.rescue, include, extra, prefix),
                always=_copy(node.always, include, extra, prefix),
            )
            if block.block or block.rescue or block.always:
                out.append(block)
    return out
