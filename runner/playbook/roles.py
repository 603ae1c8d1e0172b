"""Roles: a play's ``roles:``, ``import_role`` (static, read when the playbook is loaded)
and ``include_role`` (dynamic: an include the strategy expands per host, through the
same machinery as include_tasks, runner.playbook.includes).

A role is read from its folder (found by runner.playbook.role_search): ``meta/main.yml``
(``dependencies`` run first; a role already run in the play with the same parameters is
not run again unless its meta says ``allow_duplicates: true``), ``defaults/``, ``vars/``,
``tasks/`` and ``handlers/`` (their ``main`` file or the ``*_from`` one). Each task keeps
its ``Role`` (model.Role): its variables take their places in
runner.playbook.variables.PRECEDENCE, and ``role_name``/``role_path`` are set for it.
Handlers of every role join the play's handlers, under their name and ``ROLE : name``.
A missing role, a bad meta file or a missing ``tasks_from`` file is an error naming the
file, the line and the folders searched, before any host is contacted.
"""

from __future__ import annotations

from typing import Any

from runner.errors import PlaybookError, TemplateError
from runner.playbook.checks import BLOCK_KEYWORDS, UNSUPPORTED, plain
from runner.playbook.includes import Included
from runner.playbook.model import Block, Node, Play, Task
from runner.playbook.reader import LineDict, line_of
from runner.playbook.role_read import ENTRY_KEYWORDS, PlayRoles, RoleReader, without
from runner.templating import is_template, render_value

IMPORT_ROLE = ("import_role", "ansible.builtin.import_role")
INCLUDE_ROLE = ("include_role", "ansible.builtin.include_role")
ROLE_ARGS = frozenset(
    {"name", "tasks_from", "vars_from", "defaults_from", "handlers_from", "public",
     "allow_duplicates", "apply", "rolespec_validate"}
)  # fmt: skip
_FROM = ("tasks", "vars", "defaults", "handlers")


def role_key(item: dict[Any, Any]) -> str | None:
    """``import_role``/``include_role`` (or its FQCN) if ``item`` is one, else None."""
    for key in (*IMPORT_ROLE, *INCLUDE_ROLE):
        if key in item:
            return key
    return None


class RoleLoader(RoleReader):
    """Mixed into the task loader (runner.playbook.tasks.TaskLoader)."""

    vault: Any
    extra_vars: dict[str, Any]
    play_path: str = ""
    play_vars: dict[str, Any]
    roles_path: tuple[str, ...] = ()
    collections_path: tuple[str, ...] = ()

    # -- the play's side ----------------------------------------------------------------

    def start_roles(self) -> None:
        """A new play: no roles, handlers or exported variables yet."""
        self._play_roles = PlayRoles()

    def finish_roles(self, play: Play) -> None:
        """The roles' handlers (before the play's own, as Ansible orders them) and the
        public roles' defaults and vars, onto the loaded play."""
        state = self._roles()
        play.handlers = [*state.handlers, *play.handlers]
        play.role_defaults, play.role_vars = dict(state.defaults), dict(state.vars)
        play.role_names = tuple(dict.fromkeys(state.names))

    def play_roles(
        self, data: dict[Any, Any], path: str, inherited: Any, counter: list[int]
    ) -> list[Node]:
        """The play's ``roles:`` as blocks, in order (they run after pre_tasks and
        before tasks, in the same section)."""
        entries = data.get("roles")
        if entries is None:
            return []
        line = line_of(data, "roles")
        if not isinstance(entries, list):
            raise PlaybookError("'roles' must be a list of roles", path=path, line=line)
        out: list[Node] = []
        for entry in entries:
            where = (path, line_of(entry) or line or 0)
            if isinstance(entry, str):
                entry = LineDict({"role": entry})
                entry.line, entry.key_lines = where[1], {"role": where[1]}
            if not isinstance(entry, dict):
                raise PlaybookError(
                    f"each entry of 'roles' must be a role name or a mapping, not {entry!r}",
                    path=path, line=where[1],
                )  # fmt: skip
            name = entry.get("role", entry.get("name"))
            if not isinstance(name, str) or not name.strip():
                raise PlaybookError(
                    "a roles entry needs 'role: NAME' (or 'name: NAME')", path=path, line=where[1]
                )
            keywords = {k: v for k, v in entry.items() if k in ENTRY_KEYWORDS}
            params = {str(k): v for k, v in entry.items() if k not in ENTRY_KEYWORDS}
            for key in params:
                if key in UNSUPPORTED:
                    self._bad_keyword(key, "role", path, line_of(entry, key), ENTRY_KEYWORDS)  # type: ignore[attr-defined]
            role_vars = self._mapping(entry, "vars", path)  # type: ignore[attr-defined]
            inner = self._inherit(without(entry, keywords, "vars"), path, inherited)  # type: ignore[attr-defined]
            block = self.role_block(
                self._render_name(name, path, where[1], "roles"), where, inner, counter,
                params=plain(params), role_vars=role_vars, public=True,
                dedupe=(entry.get("when"), entry.get("tags")),
            )  # fmt: skip
            if block is not None:
                out.append(block)
        return out

    # -- import_role and include_role -----------------------------------------------------

    def import_role(
        self, data: dict[Any, Any], key: str, path: str, inherited: Any, counter: list[int]
    ) -> Block:
        """``import_role``: the role's tasks in place, with the import's keywords."""
        args, line = self._role_args(data, key, path)
        if "apply" in args:
            raise PlaybookError(
                "import_role does not take 'apply' (its keywords apply to every task "
                "already); use include_role", path=path, line=line,
            )  # fmt: skip
        allowed = BLOCK_KEYWORDS - {"block", "rescue", "always"} | {key}
        for k in data:
            if k not in allowed:
                self._bad_keyword(k, "import_role", path, line_of(data, k), allowed)  # type: ignore[attr-defined]
        params = self._mapping(data, "vars", path)  # type: ignore[attr-defined]
        inner = self._inherit(without(data, data, "vars"), path, inherited)  # type: ignore[attr-defined]
        name = self._render_name(args["name"], path, line, key)
        block = self.role_block(
            name, (path, line), inner, counter, params=params,
            from_files=self._from_files(args, path, line, key),
            public=bool(args.get("public", True)),
        )  # fmt: skip
        return block or Block([], [], [], path, line)

    def include_role(
        self, data: dict[Any, Any], key: str, path: str, inherited: Any, counter: list[int]
    ) -> Task:
        """``include_role``: a task the strategy expands per host, loop item by item."""
        args, line = self._role_args(data, key, path)
        apply = args.get("apply") or {}
        if not isinstance(apply, dict):
            raise PlaybookError("include_role: 'apply' must be a mapping", path=path, line=line)
        from_files = self._from_files(args, path, line, key)
        base = self._inherit(apply, path, inherited) if apply else inherited  # type: ignore[attr-defined]
        params = self._mapping(data, "vars", path)  # type: ignore[attr-defined]
        bad = set(apply) - (BLOCK_KEYWORDS - {"block", "rescue", "always", "name"})
        if bad:
            raise PlaybookError(
                f"include_role: 'apply' takes task keywords, not {', '.join(sorted(bad))}",
                path=path, line=line,
            )  # fmt: skip
        loader, public = self, bool(args.get("public", False))
        play_path, play_vars = self.play_path, self.play_vars
        cache: dict[str, list[Node]] = {}
        exported_roles: dict[str, dict[str, Any]] = {}

        def load(role_dir: str) -> list[Node]:
            if role_dir not in cache:
                # at run time the loader has moved on: read as from this include's play
                saved = loader.play_path, loader.play_vars
                loader.play_path, loader.play_vars = play_path, play_vars
                handlers = loader._roles().handlers
                before = len(handlers)
                try:
                    block = loader.role_block(
                        role_dir, (path, line), base, [0], params=params,
                        from_files=from_files, public=False,
                        exports=exported_roles.setdefault(role_dir, {}) if public else None,
                    )  # fmt: skip
                    exported_roles.setdefault(role_dir, {})["handlers"] = handlers[before:]
                finally:
                    loader.play_path, loader.play_vars = saved
                cache[role_dir] = [block] if block is not None else []
            return cache[role_dir]

        class RoleIncluded(Included):
            """An include whose 'file' is a role name: found by Ansible's role search.
            ``exported``: role folder -> its handlers, and the defaults and vars that
            public: true exposes (a class attribute: the copies selection makes keep it)."""

            exported = exported_roles

            def find(self, name: str) -> str | None:
                found, _ = loader._find(name, path)
                return found.path if found else None

            def not_found(self, name: str) -> str:
                return f"include_role: {loader._missing(name, path)}"

        included = RoleIncluded((), load, frozenset())
        name = str(args["name"])
        if not is_template(name):
            found = included.find(name)
            if found is None:
                raise PlaybookError(loader._missing(name, path), path=path, line=line)
            included.load(found)
        task_data = {k: v for k, v in data.items() if k != key}
        task_data["include_tasks"] = {"file": name}
        fake = LineDict(task_data)
        fake.line = line_of(data) or line
        fake.key_lines = {k: line_of(data, k) or line for k in data}
        fake.key_lines["include_tasks"] = line
        task = self.task(fake, path, inherited, counter, handler=False)  # type: ignore[attr-defined]
        task.include = included
        if task.name is None:  # as Ansible shows it
            task.name = f"include_role : {name}"
        return task

    def _role_args(self, data: dict[Any, Any], key: str, path: str) -> tuple[dict, int]:
        line = line_of(data, key) or line_of(data) or 0
        args = data[key]
        if isinstance(args, str):
            args = {"name": args}
        if not isinstance(args, dict) or not isinstance(args.get("name"), str):
            raise PlaybookError(
                f"{key} needs the role's name ('{key}: {{name: ROLE}}')", path=path, line=line
            )
        unknown = set(args) - ROLE_ARGS
        if unknown:
            raise PlaybookError(
                f"{key} does not take {', '.join(sorted(unknown))}; it takes "
                + ", ".join(sorted(ROLE_ARGS)), path=path, line=line,
            )  # fmt: skip
        return args, line

    def _from_files(self, args: dict, path: str, line: int, key: str) -> dict[str, str]:
        out = {}
        for part in _FROM:
            value = args.get(f"{part}_from")
            if value is not None:
                out[part] = self._render_name(str(value), path, line, key)
        return out

    def _render_name(self, name: str, path: str, line: int, key: str) -> str:
        if not is_template(name):
            return name.strip()
        try:
            return str(render_value(name, {**self.play_vars, **self.extra_vars})).strip()
        except TemplateError as exc:
            raise PlaybookError(
                f"{key} {name!r}: {exc.message} (read when the playbook is loaded: only play "
                "vars and extra vars are known)", path=path, line=line,
            ) from exc  # fmt: skip

    # -- reading a role -------------------------------------------------------------------


def included_roles(task: Task, outcome: Any) -> list[dict[str, Any]]:
    """What the roles an ``include_role`` outcome brought in give the rest of the play:
    their ``handlers`` and, with ``public: true``, their ``defaults`` and ``vars`` (as
    Ansible adds the role and its handlers to the play once it has run)."""
    exported = getattr(task.include, "exported", None)
    if not exported or outcome.hard_failed or outcome.status.value == "skipped":
        return []
    items = outcome.result.get("results") if task.loop is not None else [outcome.result]
    return [
        exported[one["include"]]
        for one in items or []
        if not one.get("skipped") and exported.get(one.get("include"))
    ]
