"""Reading one role from its folder: meta (dependencies first, allow_duplicates),
defaults, vars, tasks and handlers, into a block of tasks that each carry their
model.Role. Mixed into the task loader through runner.playbook.roles.RoleLoader, which
reads the play's roles:, import_role and include_role entries and calls ``role_block``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any

from runner.errors import PlaybookError
from runner.playbook.checks import BLOCK_KEYWORDS, plain
from runner.playbook.model import Block, Node, Role, Task
from runner.playbook.reader import LineDict, line_of, load_yaml
from runner.playbook.role_search import FoundRole, find_role, role_file, role_file_names

# what a role entry (roles:, meta dependencies) may set besides its parameters
ENTRY_KEYWORDS = (BLOCK_KEYWORDS - {"block", "rescue", "always", "name"}) | {"role", "name"}


@dataclass
class PlayRoles:
    """What the roles of the play being loaded leave for the play."""

    handlers: list[Task] = field(default_factory=list)
    handler_files: set[tuple[str, str]] = field(default_factory=set)
    ran: set[str] = field(default_factory=set)  # roles: and dependencies already in the play
    defaults: dict[str, Any] = field(default_factory=dict)  # public roles' defaults
    vars: dict[str, Any] = field(default_factory=dict)  # public roles' exported vars
    names: list[str] = field(default_factory=list)


@dataclass
class _Loaded:
    """A role read from disk: its own variables (before merging along the chain)."""

    found: FoundRole
    meta: dict[str, Any]
    defaults: dict[str, Any]
    vars: dict[str, Any]
    deps: list[_Loaded] = field(default_factory=list)

    def all_defaults(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for dep in self.deps:
            out.update(dep.all_defaults())
        return {**out, **self.defaults}

    def exports(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for dep in self.deps:
            out.update(dep.exports())
        return {**out, **self.vars}


class RoleReader:
    """Finds and reads roles for the loader; per play state in ``_play_roles``."""

    vault: Any
    play_path: str = ""
    roles_path: tuple[str, ...] = ()
    collections_path: tuple[str, ...] = ()
    _play_roles: PlayRoles | None = None

    def _roles(self) -> PlayRoles:
        if self._play_roles is None:
            self._play_roles = PlayRoles()
        return self._play_roles

    def _find(self, name: str, path: str) -> tuple[FoundRole | None, list[str]]:
        known: dict[str, FoundRole] = self.__dict__.setdefault("_found_roles", {})
        if name in known:  # include_role passes on the folder it found
            return known[name], [name]
        here = self._role_dir_of(path)
        found, tried = find_role(
            name,
            os.path.dirname(self.play_path or path),
            self.roles_path,
            self.collections_path,
            os.path.dirname(here) if here else None,
        )
        if found is not None:
            known[found.path] = found
        return found, tried

    def _missing(self, name: str, path: str) -> str:
        _, tried = self._find(name, path)
        return f"role {name!r} not found (looked in {', '.join(tried)})"

    def _role_dir_of(self, path: str) -> str | None:
        """The folder of the (loaded) role a file belongs to (``ROLE/tasks/x.yml`` ->
        ``ROLE``), None outside roles."""
        known = self.__dict__.setdefault("_role_dirs", set())
        folder = os.path.dirname(os.path.realpath(path))
        while folder and folder != os.path.dirname(folder):
            if folder in known:
                return folder
            folder = os.path.dirname(folder)
        return None

    def _yaml_map(self, part: str, file: str | None, where: tuple[str, int]) -> dict[str, Any]:
        if file is None:
            return {}
        data = load_yaml(file, self.vault)
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise PlaybookError(
                f"a role's {part} file must be a mapping, not {type(data).__name__} (role used "
                f"at {where[0]}:{where[1]})", path=file, line=line_of(data, default=1),
            )  # fmt: skip
        return plain(data)

    def _part(self, role: str, part: str, name: str | None, where: tuple[str, int]) -> str | None:
        file = role_file(role, part, name)
        if file is None and name is not None:
            raise PlaybookError(
                f"{part}_from: {name!r} not found in the role (looked for "
                f"{', '.join(role_file_names(role, part, name))})", path=where[0], line=where[1],
            )  # fmt: skip
        return file

    def _read_role(self, found: FoundRole, from_files: dict, where: tuple[str, int]) -> _Loaded:
        meta_file = role_file(found.path, "meta")
        meta = self._yaml_map("meta", meta_file, where)
        deps = meta.get("dependencies") or []
        if not isinstance(deps, list):
            raise PlaybookError(
                "meta: 'dependencies' must be a list of roles", path=meta_file,
                line=line_of(load_yaml(meta_file or "", self.vault), "dependencies"),
            )  # fmt: skip
        defaults = self._yaml_map(
            "defaults", self._part(found.path, "defaults", from_files.get("defaults"), where), where
        )
        role_vars = self._yaml_map(
            "vars", self._part(found.path, "vars", from_files.get("vars"), where), where
        )
        return _Loaded(found, meta, defaults, role_vars)

    def role_block(
        self,
        name: str,
        where: tuple[str, int],
        inherited: Any,
        counter: list[int],
        *,
        params: dict[str, Any] | None = None,
        role_vars: dict[str, Any] | None = None,
        from_files: dict[str, str] | None = None,
        public: bool = True,
        exports: dict[str, Any] | None = None,
        dedupe: tuple[Any, ...] | None = None,
        chain: tuple[_Loaded, ...] = (),
        chain_params: dict[str, Any] | None = None,
    ) -> Block | None:
        """One role (its dependencies first) as a block of tasks; None when it already
        ran in this play with the same parameters and does not allow duplicates."""
        found, tried = self._find(name, where[0])
        if found is None:
            raise PlaybookError(
                f"role {name!r} not found (looked in {', '.join(tried)})",
                path=where[0], line=where[1],
                hint="put the role in roles/ beside the playbook, or add its folder to "
                "roles_path (ansible.cfg [defaults] or ANSIBLE_ROLES_PATH)",
            )  # fmt: skip
        if any(os.path.realpath(c.found.path) == os.path.realpath(found.path) for c in chain):
            raise PlaybookError(
                f"role {found.name!r} depends on itself (through "
                f"{' -> '.join(c.found.name for c in chain)})", path=where[0], line=where[1],
            )  # fmt: skip
        from_files, params = from_files or {}, params or {}
        self.__dict__.setdefault("_role_dirs", set()).add(os.path.realpath(found.path))
        loaded = self._read_role(found, from_files, where)
        if chain:
            chain[-1].deps.append(loaded)
        state = self._roles()
        # Ansible's identity of a role: folder, *_from files, parameters, vars and the
        # entry's own when and tags (``dedupe``; None for import_role/include_role)
        key = repr((os.path.realpath(found.path), sorted(from_files.items()), params,
                    role_vars, plain(dedupe)))  # fmt: skip
        # a duplicate still runs its dependencies that allow duplicates (as Ansible does)
        duplicate = (
            dedupe is not None and key in state.ran and not loaded.meta.get("allow_duplicates")
        )
        state.ran.add(key)
        if not chain:  # ansible_play_role_names: the roles the play names, not dependencies
            state.names.append(found.fqcn)
        all_params = {**(chain_params or {}), **params}
        meta_file = role_file(found.path, "meta") or found.path
        nodes: list[Node] = []
        for dep in loaded.meta.get("dependencies") or []:
            nodes.extend(self._dependency(dep, meta_file, inherited, counter, (*chain, loaded),
                                          all_params, loaded))  # fmt: skip
        if duplicate:
            return Block(nodes, [], [], where[0], where[1], name=found.name) if nodes else None
        defaults: dict[str, Any] = {}
        for parent in chain:
            defaults.update(parent.defaults)
        merged_vars: dict[str, Any] = {}
        for parent in chain:
            merged_vars.update(parent.vars)
        role = Role(
            name=found.name, path=os.path.abspath(found.path), fqcn=found.fqcn,
            defaults={**loaded.all_defaults(), **defaults, **loaded.defaults},
            vars={**merged_vars, **loaded.exports(), **(role_vars or {})},
            params=all_params,
        )  # fmt: skip
        if public:
            state.defaults.update(loaded.all_defaults())
            state.vars.update(loaded.exports())
        if exports is not None:  # include_role's public: exposed once it has run
            exports.update(defaults=loaded.all_defaults(), vars=loaded.exports())
        inner = replace(inherited, role=role)
        tasks_file = self._part(found.path, "tasks", from_files.get("tasks"), where)
        if tasks_file is not None:
            nodes.extend(self._read_tasks(tasks_file, inner, counter, handler=False, where=where))  # type: ignore[attr-defined]
        self._role_handlers(found.path, from_files.get("handlers"), inner, where, role)
        return Block(nodes, [], [], where[0], where[1], name=found.name)

    def _dependency(
        self, dep: Any, meta_file: str, inherited: Any, counter: list[int],
        chain: tuple[_Loaded, ...], params: dict[str, Any], parent: _Loaded,
    ) -> list[Node]:  # fmt: skip
        where = (meta_file, line_of(dep) or 1)
        if isinstance(dep, str):
            dep = LineDict({"role": dep})
        name = dep.get("role", dep.get("name")) if isinstance(dep, dict) else None
        if not isinstance(name, str) or not name.strip():
            raise PlaybookError(
                "each dependency must be a role name or a mapping with 'role: NAME'",
                path=meta_file, line=where[1],
            )  # fmt: skip
        keywords = {k: v for k, v in dep.items() if k in ENTRY_KEYWORDS}
        dep_params = {str(k): v for k, v in dep.items() if k not in ENTRY_KEYWORDS}
        inner = self._inherit(without(dep, keywords, "vars"), meta_file, inherited)  # type: ignore[attr-defined]
        block = self.role_block(
            name, where, inner, counter, params=plain(dep_params),
            role_vars=plain(dep.get("vars") or {}), public=True,
            dedupe=(dep.get("when"), dep.get("tags")),
            chain=chain, chain_params=params,
        )  # fmt: skip
        return [block] if block is not None else []

    def _role_handlers(
        self, role_path: str, name: str | None, inherited: Any, where: tuple, role: Role
    ) -> None:
        file = self._part(role_path, "handlers", name, where)
        state = self._roles()
        if file is None or (os.path.realpath(file), repr(role.params)) in state.handler_files:
            return
        state.handler_files.add((os.path.realpath(file), repr(role.params)))
        nodes = self._read_tasks(file, inherited, [0], handler=True, where=where)  # type: ignore[attr-defined]
        for handler in nodes:
            if isinstance(handler, Task):
                aliases = [f"{role.name} : {n}" for n in (handler.name, *handler.listen) if n]
                if role.fqcn != role.name:
                    aliases += [f"{role.fqcn} : {n}" for n in (handler.name, *handler.listen) if n]
                handler.listen = (*handler.listen, *aliases)
                state.handlers.append(handler)


def without(data: dict[Any, Any], keep: Any, *drop: str) -> LineDict:
    """``data`` with only the keys of ``keep`` and none of ``drop``, lines kept."""
    out = LineDict({k: v for k, v in data.items() if k in keep and k not in drop})
    out.line = line_of(data) or 0
    out.key_lines = {k: line_of(data, k) or out.line for k in out}
    return out
